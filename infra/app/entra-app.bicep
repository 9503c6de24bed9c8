// Step 1 of the Entra app registration: create (or find, by uniqueName) the application and its service principal.
// Only the properties needed to exist are declared here. Microsoft Graph Bicep upserts by uniqueName with PATCH
// semantics, so on a redeploy this leaves everything entra-app-config.bicep set untouched. The split exists because
// identifierUris must be api://<appId>, and appId is not known until the application exists.
extension microsoftGraphV1

param uniqueName string
param displayName string

resource application 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
}

resource servicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: application.appId
}

output appId string = application.appId
output uniqueName string = application.uniqueName
output servicePrincipalId string = servicePrincipal.id
